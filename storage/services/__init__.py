"""Business rules both channels need (one rule, one place): each module one operation or one small family."""
