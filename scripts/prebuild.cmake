# Included after project() by the prebuilt's build (scripts/prebuild.js passes it as CMAKE_PROJECT_INCLUDE),
# so that CMakeLists.txt stays the one description of the addon. The prebuilt must load on a machine that
# has none of the -dev packages nor their runtime libraries (node:22-bookworm-slim has neither):
# - pkg-config's -l flags resolve to static archives (.a) where Debian ships them (libzstd, libdeflate,
#   zlib, libxxhash, liblz4, libcrypto), else to the shared library (libisal: Debian ships no libisal.a),
#   which scripts/prebuild.js then copies next to the addon;
# - the archives' symbols stay inside the addon (--exclude-libs): Node exports its own zlib, OpenSSL (and,
#   in newer versions, zstd), and the addon must call the copies it was built and tested with;
# - the addon finds a copied shared library in its own directory first (RUNPATH $ORIGIN);
# - symbols are stripped (-s): 5.6 MB -> about 4 MB, most of it libcrypto's.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a .so)
string(APPEND CMAKE_SHARED_LINKER_FLAGS " -Wl,--exclude-libs,ALL -s")
set(CMAKE_BUILD_RPATH "\$ORIGIN")
