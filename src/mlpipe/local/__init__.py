"""The embedded AWS: moto's server extended so the whole architecture runs offline."""
