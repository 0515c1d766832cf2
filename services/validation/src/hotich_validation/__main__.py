from hotich_validation.entrypoints.app import main

main()
