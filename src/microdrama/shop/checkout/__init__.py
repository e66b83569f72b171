"""The viewer's cart and checkout: stock reserved, the order created, the payment started."""
