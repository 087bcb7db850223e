// placeholder translation unit; real sources are listed beside it in meson.build
