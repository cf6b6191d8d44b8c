#include <stdbool.h>

/* Tokenizer for a tiny calculator language, written as an explicit state machine. */
typedef enum { TK_NUM, TK_OP, TK_LPAREN, TK_RPAREN, TK_END, TK_ERROR = -1 } token_kind;

typedef struct {
    token_kind kind;
    long value;
    char op;
} token;

typedef struct lexer {
    const char *src;
    unsigned pos;
} lexer;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

token next_token(lexer *lx)
{
    token t = { .kind = TK_ERROR, .value = 0L, .op = '\0' };
    char c;
    while ((c = lx->src[lx->pos]) == ' ' || c == '\t')
        lx->pos++;
    switch (c) {
    case '\0':
        t.kind = TK_END;
        break;
    case '+': case '-': case '*': case '/':
        t.kind = TK_OP;
        t.op = c;
        lx->pos++;
        break;
    case '(':
        t.kind = TK_LPAREN;
        lx->pos++;
        break;
    case ')':
        t.kind = TK_RPAREN;
        lx->pos++;
        break;
    default:
        if (!is_digit(c))
            goto done;
        t.kind = TK_NUM;
        do {
            t.value = t.value * 10 + (lx->src[lx->pos] - '0');
            lx->pos++;
        } while (is_digit(lx->src[lx->pos]));
    }
done:
    return t;
}

int count_tokens(const char *text)
{
    lexer lx = { text, 0u };
    int n = 0;
    token t;
    for (t = next_token(&lx); t.kind != TK_END && t.kind != TK_ERROR; t = next_token(&lx))
        n += 1;
    return t.kind == TK_ERROR ? ~n : n;
}
