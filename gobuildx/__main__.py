from gobuildx.cli import main

main()
