"""Network architectures spandrel does not ship, registered with it on first use."""
