"""Shop catalog: brands' products, variants and product images."""
