"""Who may see what: memberships (roles in a council), API tokens, and the scope every read and write is checked against."""
