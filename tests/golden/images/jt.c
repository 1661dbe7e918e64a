/* Encode PGM/PPM to JPEG, or decode JPEG to raw, with the system libjpeg-turbo (defaults: ISLOW, fancy upsampling). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
  if (argc >= 6 && !strcmp(argv[1], "enc")) {
    FILE *f = fopen(argv[2], "rb"); char m[3]; int w, h, mx;
    if (fscanf(f, "%2s %d %d %d", m, &w, &h, &mx) != 4) return 2; fgetc(f);
    int c = m[1] == '5' ? 1 : 3; unsigned char *px = malloc((size_t)w * h * c);
    if (fread(px, 1, (size_t)w * h * c, f) != (size_t)w * h * c) return 2; fclose(f);
    struct jpeg_compress_struct ci; struct jpeg_error_mgr je; ci.err = jpeg_std_error(&je); jpeg_create_compress(&ci);
    FILE *o = fopen(argv[3], "wb"); jpeg_stdio_dest(&ci, o);
    ci.image_width = w; ci.image_height = h; ci.input_components = c; ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci); jpeg_set_quality(&ci, atoi(argv[4]), TRUE);
    if (c == 3) { int hs = 2, vs = 2; if (!strcmp(argv[5], "444")) hs = vs = 1; else if (!strcmp(argv[5], "422")) vs = 1;
      ci.comp_info[0].h_samp_factor = hs; ci.comp_info[0].v_samp_factor = vs; }
    if (argc > 6 && !strcmp(argv[6], "prog")) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) { JSAMPROW r = px + (size_t)ci.next_scanline * w * c; jpeg_write_scanlines(&ci, &r, 1); }
    jpeg_finish_compress(&ci); fclose(o); return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "dec")) {
    struct jpeg_decompress_struct ci; struct jpeg_error_mgr je; ci.err = jpeg_std_error(&je); jpeg_create_decompress(&ci);
    FILE *f = fopen(argv[2], "rb"); jpeg_stdio_src(&ci, f); jpeg_read_header(&ci, TRUE);
    if (ci.num_components == 3) ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    int w = ci.output_width, h = ci.output_height, c = ci.output_components; unsigned char *px = malloc((size_t)w * h * c);
    while (ci.output_scanline < ci.output_height) { JSAMPROW r = px + (size_t)ci.output_scanline * w * c; jpeg_read_scanlines(&ci, &r, 1); }
    jpeg_finish_decompress(&ci); fclose(f);
    FILE *o = fopen(argv[3], "wb"); fwrite(px, 1, (size_t)w * h * c, o); fclose(o);
    printf("%d %d %d dct=%d fancy=%d\n", w, h, c, ci.dct_method, ci.do_fancy_upsampling); return 0;
  }
  fprintf(stderr, "usage: jt enc IN.pgm|ppm OUT.jpg QUALITY 444|422|420 [prog] | jt dec IN.jpg OUT.raw\n"); return 64;
}
