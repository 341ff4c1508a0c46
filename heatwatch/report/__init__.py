"""Season stability report (dismantling decision) and the monthly county report (月报)."""
