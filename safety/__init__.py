"""Safety: emergencies that 12345 must hand to 110/119/120/122, and their near-misses."""
