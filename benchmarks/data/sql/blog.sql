-- Latest published posts with their author and comment count.
SELECT p.id, p.slug, p.title, a.display_name AS author,
       (SELECT COUNT(*) FROM comments cm WHERE cm.post_id = p.id AND cm.approved) AS comments
FROM posts AS p
JOIN authors a ON a.id = p.author_id
WHERE p.published_at IS NOT NULL AND p.published_at <= :now
ORDER BY p.published_at DESC
LIMIT :page_size OFFSET :offset;

-- Posts tagged with any of the requested tags.
SELECT DISTINCT p.id, p.title
FROM posts p
JOIN post_tags pt ON pt.post_id = p.id
JOIN tags t ON t.id = pt.tag_id
WHERE t.name IN ('sqlite', 'databases', 'performance') AND p.title LIKE ?1;

INSERT INTO comments (post_id, author_name, body, approved, created_at)
VALUES (?, ?, ?, 0, CURRENT_TIMESTAMP);

UPDATE comments SET approved = 1, moderated_by = @moderator
WHERE id = @comment_id AND approved = 0;

-- Authors without a post this year, and everyone who was never published.
SELECT a.id, a.display_name FROM authors a
WHERE a.id NOT IN (
    SELECT author_id FROM posts WHERE published_at >= '2025-01-01'
)
EXCEPT
SELECT a.id, a.display_name FROM authors a WHERE a.is_admin = 1;

DELETE FROM comments
WHERE approved = 0 AND created_at < datetime('now', '-30 days');
