from impersonation_cli.cli import main

main()
