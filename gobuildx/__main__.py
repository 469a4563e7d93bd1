from gobuildx.cli.main import main

main()
