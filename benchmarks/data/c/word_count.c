#include <stdio.h>
#include <ctype.h>

// Counts lines, words and characters on standard input, like wc(1).
enum state { OUTSIDE, INSIDE };

struct counts {
    long lines, words, chars;
};

static void count_stream(FILE *in, struct counts *c)
{
    enum state st = OUTSIDE;
    int ch;
    while ((ch = getc(in)) != EOF) {
        c->chars++;
        if (ch == '\n')
            c->lines++;
        if (isspace(ch)) {
            st = OUTSIDE;
        } else if (st == OUTSIDE) {
            st = INSIDE;
            c->words++;
        }
    }
}

int main(int argc, char **argv)
{
    struct counts total = {0, 0, 0};
    int i;
    if (argc < 2) {
        count_stream(stdin, &total);
        printf("%7ld %7ld %7ld\n", total.lines, total.words, total.chars);
        return 0;
    }
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        struct counts c = {0};
        if (!f) {
            fprintf(stderr, "wc: cannot open '%s'\n", argv[i]);
            continue;
        }
        count_stream(f, &c);
        fclose(f);
        printf("%7ld %7ld %7ld %s\n", c.lines, c.words, c.chars, argv[i]);
        total.lines += c.lines;
        total.words += c.words;
        total.chars += c.chars;
    }
    if (argc > 2)
        printf("%7ld %7ld %7ld total\n", total.lines, total.words, total.chars);
    return 0;
}
