"""The integration tester and its JSON and HTML reports."""
