-- Monthly revenue per customer, largest first.
SELECT c.id, c.name, strftime('%Y-%m', o.created_at) AS month,
       COUNT(*) AS orders, SUM(o.total) AS revenue
FROM customers AS c
JOIN orders o ON o.customer_id = c.id
WHERE o.status IN ('paid', 'shipped') AND o.created_at >= date('now', '-12 months')
GROUP BY c.id, month
HAVING SUM(o.total) > 1000
ORDER BY revenue DESC, c.name
LIMIT 50;

-- Products never ordered.
SELECT p.sku, p.title
FROM products p
LEFT JOIN order_items oi ON oi.product_id = p.id
WHERE oi.id IS NULL
ORDER BY p.sku;

/* Average basket size per region, with a label for each band. */
SELECT r.name AS region,
       ROUND(AVG(o.total), 2) AS avg_total,
       CASE
           WHEN AVG(o.total) >= 200 THEN 'high'
           WHEN AVG(o.total) >= 80 THEN 'medium'
           ELSE 'low'
       END AS band
FROM orders AS o
INNER JOIN customers c ON c.id = o.customer_id
INNER JOIN regions r USING (region_id)
GROUP BY r.name;

-- Customers whose latest order is older than ninety days.
SELECT c.email
FROM customers c
WHERE NOT EXISTS (
    SELECT 1 FROM orders o
    WHERE o.customer_id = c.id AND o.created_at > date('now', '-90 days')
)
AND c.email NOT LIKE '%@example.com';

-- Top sellers across both storefronts.
SELECT sku, SUM(quantity) AS sold FROM web_order_items GROUP BY sku
UNION ALL
SELECT sku, SUM(qty) FROM shop_sales GROUP BY sku
ORDER BY 2 DESC
LIMIT 10 OFFSET 0;
