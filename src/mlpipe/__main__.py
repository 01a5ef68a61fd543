from mlpipe.cli.entry import main

main()
