"""Built-in grammars: real valid texts accepted and broken ones rejected, by constrain and by
Lark's Earley parser with a complete dynamic lexer (the reference for complete strings);
JSON also against ``json.loads``."""

from __future__ import annotations

import functools
import json

import lark
import pytest

import constrain as cn
from constrain.grammars import DIRECTORY
from reference.earley import EarleyOracle


@functools.lru_cache(maxsize=None)
def engine(name: str) -> cn.Grammar:
    return cn.Grammar.builtin(name)


@functools.lru_cache(maxsize=None)
def reference(name: str) -> lark.Lark:
    text = (DIRECTORY / f"{name}.lark").read_text(encoding="utf-8")
    return lark.Lark(text, parser="earley", lexer="dynamic_complete",
                     import_paths=[str(DIRECTORY)])


def lark_accepts(name: str, text: str) -> bool:
    try:
        reference(name).parse(text)
        return True
    except lark.exceptions.UnexpectedInput:
        return False


def check(name: str, text: str, valid: bool) -> None:
    assert engine(name).matches(text) is valid, (name, text)
    assert lark_accepts(name, text) is valid, (name, text)


def test_every_builtin_grammar_is_listed_and_builds():
    names = cn.Grammar.builtin_names()
    for name in ("json", "arithmetic", "sql", "c"):
        assert name in names
        assert engine(name).tables.rule_lhs.size > 0


# ---------------------------------------------------------------- JSON

JSON_VALID = [
    '{}', '[]', '0', '-0', '1.5e10', '-12.25E-3', '"plain"', 'true', 'false', 'null',
    '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00"',
    '"caf\u00e9 \u4e2d\u6587 \U0001f600"',
    ' {"a" : [1, 2, {"b": null}], "c": "d"} ',
    '{"id": 17, "tags": ["x", "y"], "nested": {"deep": [[], [{}], [true, false]]}}',
    '[\n  {"name": "Ann", "age": 31.5},\n  {"name": "Bob", "age": 4e2}\n]\n',
    '\t[1,2,3]\r\n',
    '{"": ""}',
    '[0.0, 10, 1E+2, -1e-0]',
]

JSON_INVALID = [
    '[1, 2,]', '{"a": 1,}', "{'a': 1}", "'str'", '[01]', '00', '[1.]', '[.5]', '+1',
    '"tab\there"', '"line\nbreak"', '"\\x41"', '"\\u12"', '{"a" 1}', '{a: 1}', '[1 2]',
    'tru', 'nul', '[', '{"a": [}', '', '1 2', '"unterminated',
]


@pytest.mark.parametrize("text", JSON_VALID)
def test_json_valid(text):
    json.loads(text)
    check("json", text, True)


@pytest.mark.parametrize("text", JSON_INVALID + ["NaN", "Infinity", "-Infinity"])
def test_json_invalid(text):
    if text not in ("NaN", "Infinity", "-Infinity"):  # json.loads accepts these; RFC 8259 does not
        with pytest.raises(ValueError):
            json.loads(text)
    check("json", text, False)


# ---------------------------------------------------------------- arithmetic

ARITHMETIC_VALID = [
    "1", "1+2", "3.25 * (4 - 1)", "-7", "--7", "2^-1", "-(3.5*2)^2 % 4", " 10 / 2 ",
    "((1))", "1 + 2 * 3 ^ 4 ^ 5 - 6 / 7 % 8", "\t0.5-\t-0.5",
]
ARITHMETIC_INVALID = [
    "", "1 2", "1+", "*1", "(1", "1)", "1.", ".5", "1e5", "2^^3", "1 +* 2", "()", "x+1",
    "1\n+2",
]


@pytest.mark.parametrize("text", ARITHMETIC_VALID)
def test_arithmetic_valid(text):
    check("arithmetic", text, True)


@pytest.mark.parametrize("text", ARITHMETIC_INVALID)
def test_arithmetic_invalid(text):
    check("arithmetic", text, False)


# ---------------------------------------------------------------- SQL

SQL_VALID = [
    "SELECT * FROM users",
    "select id, name from users where active = 1;",
    "SELECT*FROM t",
    "SELECT a FROM t WHERE(a>1)AND(b<2)",
    "SELECT DISTINCT country FROM customers ORDER BY country",
    "SELECT u.name, o.total FROM users u JOIN orders o ON u.id = o.user_id "
    "WHERE o.total > 100 ORDER BY o.total DESC LIMIT 10",
    "SELECT c.name, COUNT(*) AS n, SUM(o.amount) total\nFROM customers AS c\n"
    "LEFT OUTER JOIN orders o ON o.customer_id = c.id\nGROUP BY c.name\n"
    "HAVING COUNT(*) >= 2\nORDER BY n DESC, c.name ASC;",
    "SELECT name FROM users WHERE id IN (SELECT user_id FROM orders WHERE amount > 50)",
    "SELECT name FROM products WHERE price BETWEEN 10 AND 20 AND name LIKE 'A%'",
    "SELECT * FROM t WHERE deleted_at IS NULL OR note IS NOT NULL",
    "SELECT * FROM t WHERE x NOT IN (1, 2, 3) AND y NOT LIKE '%''quoted''%'",
    "SELECT CASE WHEN score >= 90 THEN 'A' WHEN score >= 80 THEN 'B' ELSE 'C' END AS grade "
    "FROM results",
    "SELECT CAST(price AS REAL) / 2, -x, abs(-3), coalesce(a, b, 0) FROM t",
    "SELECT \"order\".\"id\" FROM \"order\" WHERE \"order\".qty<>0",
    "SELECT t.* FROM (SELECT id, name FROM users) AS t WHERE EXISTS (SELECT 1 FROM x)",
    "SELECT a FROM t1 UNION ALL SELECT b FROM t2 ORDER BY 1 LIMIT 5 OFFSET 10",
    "SELECT count(DISTINCT city) FROM addresses -- how many cities\n",
    "SELECT /* all */ * FROM t LIMIT 3, 4",
    "INSERT INTO users (name, email, age) VALUES ('Ann', 'ann@example.com', 31), "
    "('Bob', NULL, 4.5e1);",
    "insert into log values (?, :msg, current_timestamp)",
    "INSERT OR REPLACE INTO kv(k, v) SELECT k, v FROM staging",
    "UPDATE accounts SET balance = balance - 100, updated = 'now' WHERE id = 42;",
    "DELETE FROM sessions WHERE expires < 1700000000 OR user_id IS NULL",
    "DELETE FROM t",
    "SELECT a.x, b.y FROM a, b NATURAL JOIN c CROSS JOIN d USING (k)",
]

SQL_INVALID = [
    "SELEC * FROM t",                       # misspelled keyword
    "SELECT * FORM t WHERE x = 1",          # misspelled keyword
    "selectx from t",                       # keyword glued to an identifier
    "SELECT a FROM t ORDERBY a",            # ORDER BY glued
    "SELECT a FROM t WHERE x = 1 AND",      # trailing operator
    "SELECT a FROM t WHERE (x = 1",         # unbalanced parenthesis
    "SELECT a,, b FROM t",                  # doubled comma
    "SELECT a FROM t WHERE name = 'unterminated",
    "INSERT INTO t (a, b) VALUES (1, 2",    # unbalanced parenthesis
    "INSERT INTO t VALUES",                 # no rows
    "UPDATE t SET WHERE id = 1",            # no assignment
    "DELETE t WHERE id = 1",                # missing FROM
    "SELECT a FROM t;;",                    # two semicolons
    "SELECT a FROM t WHERE x BETWEEN 1",    # BETWEEN without AND
    "SELECT a FROM t LIMIT 1 OFFSET",       # OFFSET without a count
    "SELECT a, FROM t",                     # trailing comma (FROM is reserved, not a name)
    "SELECT a FROM t WHERE",                # WHERE without a condition
    "SELECT a FROM t LIMIT",                # LIMIT without a count
    "SELECT select FROM t",                 # a reserved word as a column name
]


@pytest.mark.parametrize("text", SQL_VALID)
def test_sql_valid(text):
    check("sql", text, True)


@pytest.mark.parametrize("text", SQL_INVALID)
def test_sql_invalid(text):
    check("sql", text, False)


# ---------------------------------------------------------------- C

C_LIST = r'''#include <stdio.h>
#include <stdlib.h>
#include "list.h"
#define MAX_ITEMS 100
#define SQUARE(x) ((x) * (x))

struct node {
    int value;
    struct node *next;
};

typedef struct node node_t;

static node_t *push(node_t *head, int value) {
    node_t *n = (node_t *)malloc(sizeof(node_t));
    if (n == NULL) {
        return head;
    }
    n->value = value;
    n->next = head;
    return n;
}

int main(int argc, char **argv) {
    node_t *list = NULL;
    for (int i = 0; i < MAX_ITEMS && i < argc; i++) {
        list = push(list, SQUARE(i));
    }
    printf("%d\n", list ? list->value : -1);
    return 0;
}
'''

C_SORT = r'''/* Insertion sort over unsigned longs. */
void sort(unsigned long *a, unsigned long n)
{
    unsigned long i, j;
    for (i = 1; i < n; ++i) {
        unsigned long key = a[i];
        j = i;
        while (j > 0 && a[j - 1] > key) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = key;
    }
}
'''

C_SWITCH = r'''enum color { RED, GREEN = 2, BLUE, };

const char *color_name(enum color c) {
    switch (c) {
    case RED:
        return "red";
    case GREEN:
    case BLUE: {
        static const char *names[] = { "green", "blue" };
        return names[c == BLUE];
    }
    default:
        break;
    }
    return "unknown";
}
'''

C_MISC = r'''#include <string.h>

struct point { double x, y; };
union value { int i; float f; char bytes[4]; };
struct flags { unsigned int ready : 1; unsigned int mode : 3; };

int (*handler)(int, char *);
extern volatile long long counter;
static char buffer[256] = "hello, \"world\"\n";

double norm(const struct point *p) {
    return p->x * p->x + p->y * p->y;
}

int count_bits(unsigned int v) {
    int c = 0;
    do {
        c += v & 1u;
        v >>= 1;
    } while (v != 0);
    return c;
}

int find(const char *s, char ch) {
    int i = 0;
    while (s[i] != '\0') {
        if (s[i] == ch) goto found;
        i++;
    }
    return -1;
found:
    return i;
}
'''

C_VALID = [
    C_LIST,
    C_SORT,
    C_SWITCH,
    C_MISC,
    "int x;",
    "int*p;",
    "int f(void){return(1);}",
    "int f(void){if(x)return;else return;}",
    "unsigned long long int x = 0x1FULL, y = 017u, z = 42L;",
    "typedef struct { int a; } point_t; point_t origin = { .a = 0 };",
    "void f(void) { x = (unsigned int)y * 2.5f / .5 - 'a' + sizeof x + sizeof(int[4]); }",
    "int main(void) { int a[3] = {[0] = 1, [2] = 3}; int *p = &a[1]; *p += a[0] << 2 | 1; "
    "return !p ? 0 : ~*p % 7; }",
    "void f(int n, ...);\nchar *strdup(const char *);",
    "float g(float x) { return x >= 0.0f ? x : -x; } /* abs */ // end\n",
    "int x;\n#include <a.h>\nint y;",
    "void f(void) { int i = 0, j; for (;;) { if (i++ > 10) break; else continue; } j = i, i = 0; }",
    "struct s *make(void) { return (struct s *){0}; }",
]

C_INVALID = [
    "int main(void) { int x = 1 return x; }",           # missing semicolon
    "int main(void) { return 0; ",                      # unbalanced brace
    "int main(void { return 0; }",                      # unbalanced parenthesis
    "int f(void) { return (1 + 2; }",                   # unbalanced parenthesis
    "intmain(int argc) { return 0; }",                  # keyword glued to the name
    "int f(void) { if (a) x = 1; elsereturn 0; }",      # else glued to return
    "structnode { int a; };",                           # struct glued to its tag
    "int f(void) { x = y +; }",                         # trailing operator
    "int f(void) { while x > 0 { x--; } }",             # while without parentheses
    "int f(void) { for (i = 0; i < 3) {} }",            # for with one semicolon
    "int x = 08;",                                      # bad octal literal
    "char c = 'ab;",                                    # unterminated character
    "char *s = \"abc;",                                 # unterminated string
    "int x; #include <a.h>\n",                          # directive not at a line start
    "#include <a.h> int x;",                            # directive not ended by a newline
    "int f(void) { return 0; } }",                      # extra brace
    "int x, int;",                                      # a keyword as a name
    "intmain(void) { return 0; }",                      # keyword glued to the name
    "int f(void) { int if = 1; return if; }",           # a keyword as a variable
]


@pytest.mark.parametrize("text", C_VALID)
def test_c_valid(text):
    check("c", text, True)


@pytest.mark.parametrize("text", C_INVALID)
def test_c_invalid(text):
    check("c", text, False)


# ---------------------------------------------------------------- prefixes


PREFIX_EXAMPLES = {
    "arithmetic": ARITHMETIC_VALID[:6] + ARITHMETIC_INVALID[:6],
    "json": JSON_VALID[10:14] + JSON_INVALID[:6],
    "sql": SQL_VALID[:8] + SQL_INVALID[:8],
    "c": C_VALID[4:12] + C_INVALID[:8],
}


@pytest.mark.parametrize("name", sorted(PREFIX_EXAMPLES))
def test_prefixes_agree_with_earley_oracle(name):
    """Every prefix of the examples (and it followed by a space or a letter) is viable for
    constrain exactly when the independent scannerless Earley oracle says so."""
    oracle = EarleyOracle((DIRECTORY / f"{name}.lark").read_text(encoding="utf-8"))
    for text in PREFIX_EXAMPLES[name]:
        data = text.encode("utf-8")
        for k in range(len(data) + 1):
            for prefix in (data[:k], data[:k] + b" ", data[:k] + b"x"):
                assert engine(name).is_prefix(prefix) == oracle.viable_bytes(prefix), prefix
