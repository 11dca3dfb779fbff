"""Stand-in for chaostoolkit-opentracing (`chaostracing`)."""
