from hotich_export.entrypoints.app import main

main()
