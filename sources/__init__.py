"""Where data comes from: export files (and, later, the 抖店 Open Platform API)."""
