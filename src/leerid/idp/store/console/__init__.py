"""The console's reads and writes (issue 13): DOV's staff and their privacy log, the
registry's import runs and searches, disclosures counted per client and day, DOV's breach
register; SQL lives here so that ``idp/console`` holds none."""
