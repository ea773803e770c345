# Writes OUTPUT, a C++ source holding every migrations/NNNN_*.up.sql file, so
# that `thesis-server migrate` needs no files next to the binary.
file(GLOB files "${MIGRATIONS_DIR}/*.up.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql)
  string(REGEX MATCH "^[0-9]+" version ${name})
  math(EXPR version "${version} + 0")
  string(APPEND body "    {${version}, \"${name}\", R\"thesis_sql(${sql})thesis_sql\"},\n")
endforeach()
file(WRITE ${OUTPUT}.tmp
"// Generated from migrations/*.up.sql by embed_migrations.cmake. Do not edit.
#include \"server/storage/migrations.h\"

namespace thesis::storage {

const std::vector<Migration>& EmbeddedMigrations() {
  static const auto* migrations = new std::vector<Migration>{
${body}  };
  return *migrations;
}

}  // namespace thesis::storage
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
