"""Stand-in for chaostoolkit-slack (`chaosslack`)."""
