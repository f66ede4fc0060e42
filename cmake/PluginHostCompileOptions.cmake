# pluginhost_strict_target(<target>): warnings (and, with PLUGINHOST_WERROR, errors) and
# sanitizers for code we own. Third-party code never goes through this.
function(pluginhost_strict_target target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow=local -Wnon-virtual-dtor)
    if(PLUGINHOST_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

if(PLUGINHOST_SANITIZE)
    string(REPLACE "," ";" _sanitizers "${PLUGINHOST_SANITIZE}")
    foreach(_sanitizer IN LISTS _sanitizers)
        add_compile_options(-fsanitize=${_sanitizer})
        add_link_options(-fsanitize=${_sanitizer})
    endforeach()
    add_compile_options(-fno-omit-frame-pointer)
endif()
