"""Orders after checkout: reservations running out, payment and refund, shipping."""
