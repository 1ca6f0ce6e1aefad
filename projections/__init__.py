"""Read models. Each projection owns its tables (portable SQL) and turns events into row
changes; adapters execute them with the tracking row in the same transaction."""
