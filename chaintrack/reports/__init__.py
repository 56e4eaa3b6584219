"""Chain status reports and the province dashboard (as of any date; JSON, CSV, Excel)."""
