"""The `careledger` command line: parses arguments and calls the same services as the API."""
