from hotich_reporting.entrypoints.app import main

main()
