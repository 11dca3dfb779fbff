"""Stand-in for the MuCon "superpower" demo's probes package."""
