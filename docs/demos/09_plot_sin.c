/* 09_plot_sin.c - exercise 5: let f(x) = sin(x); plot f and df/dx, where df/dx is computed
 * without using cos(x). The function below never mentions cos: its derivative comes from the
 * registry's rule for sin, by dual numbers. Through the plotting API it is drawn to sin.png (a
 * text plot in the terminal when gnuplot is not installed), and we check it against cos(x). */
#include <math.h>
#include <stdio.h>

#include <nabla/nabla.h>

static nb_var f(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_sin(c, x[0]); /* no cos here */
}

/* a text plot of the table, for when gnuplot is absent: '*' for f, '+' for f' */
static void text_plot(const nb_plot_data *d) {
    enum { W = 64, H = 17 };
    char grid[H][W + 1];
    for (int r = 0; r < H; r++) {
        for (int col = 0; col < W; col++) grid[r][col] = r == H / 2 ? '-' : ' ';
        grid[r][W] = 0;
    }
    for (size_t i = 0; i < d->n; i++) {
        int col = (int)((double)i * (W - 1) / (double)(d->n - 1));
        for (int c = 1; c >= 0; c--) {
            int r = (int)lround((1 - d->y[(size_t)c * d->n + i]) * (H - 1) / 2);
            grid[r][col] = c ? '+' : '*';
        }
    }
    for (int r = 0; r < H; r++) printf("note: |%s|\n", grid[r]);
}

int main(int argc, char **argv) {
    const char *png = argc > 1 ? argv[1] : "sin.png";
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    nb_plot p;
    nb_plot_init(&p); /* f and f' */
    p.a = -2 * NB_PI;
    p.b = 2 * NB_PI;
    p.title = "f(x) = sin(x) and df/dx, without cos";
    p.output = png;
    nb_plot_data d;
    double at = 0;
    if (nb_plot_sample_fn(&p, ctx, f, NULL, 1, &at, 0, &d)) return 1;

    double worst = 0;
    for (size_t i = 0; i < d.n; i++) worst = fmax(worst, fabs(d.y[d.n + i] - cos(d.x[i])));
    printf("%zu samples on [-2 pi, 2 pi]\n", d.n);
    printf("largest |df/dx - cos(x)|: %g\n", worst);

    char msg[256];
    nb_status s = nb_plot_render(&p, &d, msg, sizeof msg);
    if (s == NB_OK)
        printf("note: wrote %s\n", png);
    else if (s == NB_E_NOTFOUND)
        text_plot(&d);
    else
        printf("note: %s\n", msg);
    nb_plot_data_free(&d);
    nb_ctx_free(ctx);
    return worst == 0 && (s == NB_OK || s == NB_E_NOTFOUND) ? 0 : 1;
}
