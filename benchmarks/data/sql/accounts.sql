-- Move money between two accounts (one statement each; the caller wraps them in a transaction).
UPDATE accounts SET balance = balance - 250.00, updated_at = CURRENT_TIMESTAMP
WHERE id = 'acc_1001' AND balance >= 250.00;

UPDATE accounts SET balance = balance + 250.00, updated_at = CURRENT_TIMESTAMP
WHERE id = 'acc_2002';

INSERT INTO ledger (from_account, to_account, amount, memo, booked_at)
VALUES ('acc_1001', 'acc_2002', 250.00, 'rent share, March', CURRENT_TIMESTAMP);

-- Daily balance check: debits and credits must cancel out.
SELECT date(booked_at) AS day,
       SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS credits,
       SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS debits,
       COUNT(*) AS entries
FROM ledger
GROUP BY date(booked_at)
HAVING ABS(SUM(amount)) > 0.005
ORDER BY day DESC;

-- Accounts flagged for review: large transfers or many small ones.
SELECT l.from_account, COUNT(*) AS n, MAX(l.amount) AS largest
FROM ledger l
WHERE l.booked_at BETWEEN '2025-03-01' AND '2025-03-31'
GROUP BY l.from_account
HAVING MAX(l.amount) > 10000 OR COUNT(*) > 200;

SELECT id, owner, CAST(balance * 100 AS INTEGER) AS cents, typeof(balance)
FROM accounts
WHERE closed_at ISNULL AND owner GLOB '[A-Z]*'
ORDER BY owner ASC, id;
