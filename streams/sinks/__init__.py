"""Where results go: InfluxDB line protocol (pure mapping) and its writer."""
