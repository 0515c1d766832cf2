from hotich_intake.entrypoints.app import main

main()
