-- Restock: add this week's deliveries.
INSERT INTO stock_movements (product_id, warehouse_id, quantity, reason, moved_at)
VALUES (1042, 3, 120, 'delivery', CURRENT_TIMESTAMP),
       (1043, 3, 48, 'delivery', CURRENT_TIMESTAMP),
       (2001, 1, 15, 'return', CURRENT_TIMESTAMP);

UPDATE stock
SET quantity = quantity + (
        SELECT SUM(m.quantity) FROM stock_movements m
        WHERE m.product_id = stock.product_id AND m.warehouse_id = stock.warehouse_id
          AND m.moved_at > stock.updated_at
    ),
    updated_at = CURRENT_TIMESTAMP
WHERE product_id IN (SELECT product_id FROM stock_movements WHERE moved_at > date('now', '-7 days'));

-- Items below their reorder point.
SELECT s.product_id, p.title, s.quantity, p.reorder_point,
       p.reorder_point - s.quantity AS missing
FROM stock s JOIN products p ON p.id = s.product_id
WHERE s.quantity < p.reorder_point AND p.discontinued = 0
ORDER BY missing DESC;

DELETE FROM stock_movements
WHERE moved_at < date('now', '-2 years') AND reason <> 'audit';

INSERT OR IGNORE INTO warehouses (id, name, city) VALUES (7, 'North hub', 'Leeds');

UPDATE OR ROLLBACK products
SET price = ROUND(price * 1.05, 2), note = 'price review ' || date('now')
WHERE category_id = 12 AND price BETWEEN 5 AND 500;
