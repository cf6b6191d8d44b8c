#include <math.h>
#include <stdio.h>

#define N 4

/* Solves A x = b by Gaussian elimination with partial pivoting. Returns 0 on success. */
int solve(double a[N][N], double b[N], double x[N])
{
    int col, row, k;
    for (col = 0; col < N; col++) {
        int pivot = col;
        for (row = col + 1; row < N; row++)
            if (fabs(a[row][col]) > fabs(a[pivot][col]))
                pivot = row;
        if (fabs(a[pivot][col]) < 1e-12)
            return -1;
        if (pivot != col) {
            for (k = 0; k < N; k++) {
                double tmp = a[col][k];
                a[col][k] = a[pivot][k];
                a[pivot][k] = tmp;
            }
            double tb = b[col]; b[col] = b[pivot]; b[pivot] = tb;
        }
        for (row = col + 1; row < N; row++) {
            double f = a[row][col] / a[col][col];
            for (k = col; k < N; k++)
                a[row][k] -= f * a[col][k];
            b[row] -= f * b[col];
        }
    }
    for (row = N - 1; row >= 0; row--) {
        double s = b[row];
        for (k = row + 1; k < N; k++)
            s -= a[row][k] * x[k];
        x[row] = s / a[row][row];
    }
    return 0;
}

int main(void)
{
    double a[N][N] = {
        {4.0, -2.0, 1.0, 0.5},
        {-2.0, 4.0, -2.0, 1.0},
        {1.0, -2.0, 4.0, -2.0},
        {0.5, 1.0, -2.0, 4.0f},
    };
    double b[N] = {11.0, -16.0, 17.0, .25e1}, x[N];
    if (solve(a, b, x) != 0) {
        puts("singular matrix");
        return 1;
    }
    for (int i = 0; i < N; ++i)
        printf("x[%d] = %+.6f\n", i, x[i]);
    return 0;
}
