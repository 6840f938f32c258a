from careledger.cli.main import cli

cli(prog_name="careledger")
