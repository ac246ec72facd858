"""The DCI Social Registry API v1.0.0 (Digital Convergence Initiative): other government systems
search the registry, subscribe to its changes and are notified, in the published message format."""
