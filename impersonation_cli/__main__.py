from impersonation_cli.launcher import main

main()
