"""The small library every Chung Tay service uses: settings, database, events, scopes, errors."""
