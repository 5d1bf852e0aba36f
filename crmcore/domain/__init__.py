"""Domain types: plain attrs classes, validated on construction."""
