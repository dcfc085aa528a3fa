/* nist.c - loading the NIST StRD problems and their models. Models as NIST writes them:
 *   Misra1a, BoxBOD  y = b1 (1 - exp(-b2 x))
 *   Thurber          y = (b1 + b2 x + b3 x^2 + b4 x^3) / (1 + b5 x + b6 x^2 + b7 x^3)
 *   Eckerle4         y = (b1 / b2) exp(-0.5 ((x - b3) / b2)^2)
 *   Rat43            y = b1 / (1 + exp(b2 - b3 x))^(1 / b4) */
#include "nist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_numbers(const char *s, double *out, int max) {
    int k = 0;
    char *end;
    while (k < max) {
        double v = strtod(s, &end);
        if (end == s) break;
        out[k++] = v;
        s = end;
    }
    return k;
}

int nist_load(const char *path, nist_problem *out) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    memset(out, 0, sizeof *out);
    char line[512];
    int in_data = 0;
    while (fgets(line, sizeof line, f)) {
        if (in_data) {
            double xy[2];
            if (read_numbers(line, xy, 2) == 2 && out->n < NIST_MAXN) {
                out->x[out->n] = xy[0];
                out->y[out->n++] = xy[1];
            }
        } else if (strncmp(line, "# name: ", 8) == 0) {
            sscanf(line + 8, "%31s", out->name);
        } else if (strncmp(line, "# P: ", 5) == 0) {
            out->p = atoi(line + 5);
        } else if (strncmp(line, "start1:", 7) == 0) {
            read_numbers(line + 7, out->start[0], NIST_MAXP);
        } else if (strncmp(line, "start2:", 7) == 0) {
            read_numbers(line + 7, out->start[1], NIST_MAXP);
        } else if (strncmp(line, "certified:", 10) == 0) {
            read_numbers(line + 10, out->certified, NIST_MAXP);
        } else if (strncmp(line, "rss:", 4) == 0) {
            out->rss = strtod(line + 4, NULL);
        } else if (strncmp(line, "data:", 5) == 0) {
            in_data = 1;
        }
    }
    fclose(f);
    return out->p > 0 && out->n > 0 ? 0 : -1;
}

#define MODEL(NAME_, B_, X_, ADD, SUB, MUL, DIV, EXP, POW, K)                                   \
    (strcmp(NAME_, "Thurber") == 0                                                               \
         ? DIV(ADD(ADD(B_[0], MUL(B_[1], X_)), ADD(MUL(B_[2], MUL(X_, X_)), MUL(B_[3], MUL(X_, MUL(X_, X_))))), \
               ADD(ADD(K(1), MUL(B_[4], X_)), ADD(MUL(B_[5], MUL(X_, X_)), MUL(B_[6], MUL(X_, MUL(X_, X_)))))) \
     : strcmp(NAME_, "Eckerle4") == 0                                                            \
         ? MUL(DIV(B_[0], B_[1]),                                                                \
               EXP(MUL(K(-0.5), MUL(DIV(SUB(X_, B_[2]), B_[1]), DIV(SUB(X_, B_[2]), B_[1])))))  \
     : strcmp(NAME_, "Rat43") == 0                                                               \
         ? DIV(B_[0], POW(ADD(K(1), EXP(SUB(B_[1], MUL(B_[2], X_)))), DIV(K(1), B_[3])))         \
         : MUL(B_[0], SUB(K(1), EXP(MUL(K(-1), MUL(B_[1], X_))))))

void nist_residuals(nb_ctx *c, const nb_var *b, nb_var *r, void *env) {
    const nist_problem *p = env;
#define H_ADD(a_, b_) nb_add(c, a_, b_)
#define H_SUB(a_, b_) nb_sub(c, a_, b_)
#define H_MUL(a_, b_) nb_mul(c, a_, b_)
#define H_DIV(a_, b_) nb_div(c, a_, b_)
#define H_EXP(a_) nb_exp(c, a_)
#define H_POW(a_, b_) nb_pow(c, a_, b_)
#define H_K(v_) nb_const(v_)
    for (int i = 0; i < p->n; i++) {
        nb_var x = nb_const(p->x[i]);
        nb_var m = MODEL(p->name, b, x, H_ADD, H_SUB, H_MUL, H_DIV, H_EXP, H_POW, H_K);
        r[i] = nb_sub(c, m, nb_const(p->y[i]));
    }
}

void nist_residuals_plain(const nist_problem *p, const double *b, double *r) {
#define D_ADD(a_, b_) ((a_) + (b_))
#define D_SUB(a_, b_) ((a_) - (b_))
#define D_MUL(a_, b_) ((a_) * (b_))
#define D_DIV(a_, b_) ((a_) / (b_))
#define D_EXP(a_) exp(a_)
#define D_POW(a_, b_) pow(a_, b_)
#define D_K(v_) (v_)
    for (int i = 0; i < p->n; i++) {
        double x = p->x[i];
        r[i] = MODEL(p->name, b, x, D_ADD, D_SUB, D_MUL, D_DIV, D_EXP, D_POW, D_K) - p->y[i];
    }
}
