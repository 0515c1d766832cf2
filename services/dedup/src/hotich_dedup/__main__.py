from hotich_dedup.entrypoints.app import main

main()
