"""ai4media-ext secure FL Flower App."""
