from hotich_national_sandbox.app import main

main()
