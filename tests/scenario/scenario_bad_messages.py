"""The message each file in tests/scenario/bad/ must give (exit status 2).

Static ones come from load_scenario; the rest only show while running.
"""
OPS = ('"fault_anon", "add_to_page_cache", "fault_shmem", "map", "unmap", '
       '"get_page", "put_page", "truncate", "swap_out", "swap_in", "migrate", '
       '"replace_page_cache", "reclaim", "set_limit", "move_task", "exit", '
       '"expect"')

STATIC = {
    "not-json.json": "not-json.json: not valid JSON: Expecting ',' delimiter at line 3, column 36",
    "not-utf8.json": "not-utf8.json: not UTF-8 text (byte 0xe9 at offset 48)",
    "not-an-object.json": 'not-an-object.json: a scenario must be a JSON object with "format", "memcgs", "tasks" and "steps"',
    "saved-timeline-not-scenario.json": 'saved-timeline-not-scenario.json, field "format": is "memcg-edu-timeline/1": this is a saved timeline, not a scenario; plot and the widgets read it, run and check need a "memcg-edu-scenario/1" file',
    "empty.json": 'empty.json: the file is empty; a scenario is a JSON object that starts with "format": "memcg-edu-scenario/1"',
    "missing-format.json": 'missing-format.json, field "format": missing; a scenario file starts with "format": "memcg-edu-scenario/1"',
    "wrong-format.json": 'wrong-format.json, field "format": is "memcg-edu-scenario/9", but this version of memcg_edu reads "memcg-edu-scenario/1"',
    "unknown-top-field.json": 'unknown-top-field.json, field "stpes": unknown top-level field "stpes" (did you mean "steps"?); known: "format", "title", "description", "design", "machine", "memcgs", "tasks", "steps", "quiz"',
    "missing-steps.json": 'missing-steps.json, field "steps": missing; a scenario needs a list of steps',
    "steps-not-a-list.json": 'steps-not-a-list.json, field "steps": must be a list of steps',
    "step-not-an-object.json": 'step-not-an-object.json, step 1: a step must be a JSON object, got "unmap x"',
    "unknown-op.json": f'unknown-op.json, step 0, field "op": unknown op "fualt_anon" (did you mean "fault_anon"?); ops: {OPS}',
    "op-not-a-string.json": f'op-not-a-string.json, step 0, field "op": must be the name of an op, got ["fault_anon"]; ops: {OPS}',
    "task-not-a-string.json": 'task-not-a-string.json, step 0 (fault_anon), field "task": must be the name of a task, got ["p"]',
    "missing-op.json": f'missing-op.json, step 0, field "op": missing field "op"; ops: {OPS}',
    "missing-field.json": 'missing-field.json, step 0 (fault_anon), field "page": missing field "page"; fault_anon needs "task", "page"',
    "misspelled-field.json": 'misspelled-field.json, step 1 (unmap), field "pgae": unknown field "pgae" (did you mean "page"?); unmap takes "note", "task", "page", "count"',
    "unknown-task.json": 'unknown-task.json, step 0 (fault_anon), field "task": no task "P" (did you mean "p"?); tasks: "p"',
    "unknown-memcg.json": 'unknown-memcg.json, step 1 (reclaim), field "memcg": no memcg "C"; memcgs: "root", "A"',
    "unknown-label.json": 'unknown-label.json, step 1 (unmap), field "page": no page "y" has been created before this step; labels so far: "x"',
    "label-reused.json": 'label-reused.json, step 1 (fault_anon), field "page": page label "x" is already used (created at step 0); give the new page its own label',
    "negative-limit.json": 'negative-limit.json, field "memcgs.A.limit": must be 0 or more pages, got -8',
    "fractional-size.json": 'fractional-size.json, step 1 (reclaim), field "pages": must be a whole number of pages, got 2.5',
    "size-with-decimal-point.json": 'size-with-decimal-point.json, field "memcgs.A.limit": must be a whole number of pages written without a decimal point, got 8.0',
    "size-as-string.json": 'size-as-string.json, step 1 (reclaim), field "pages": must be a whole number of pages, got "4"',
    "limit-above-memsw-limit.json": 'limit-above-memsw-limit.json, field "memcgs.A.limit": limit 16 is above memsw_limit 8; the kernel requires limit <= memsw limit (mem_cgroup_resize_limit)',
    "set-limit-above-memsw.json": 'set-limit-above-memsw.json, step 0 (set_limit), field "limit_pages": limit 8 is above memsw_limit 4; the kernel requires limit <= memsw limit (mem_cgroup_resize_limit)',
    "parent-cycle.json": 'parent-cycle.json, field "memcgs.A.parent": parents form a cycle: A -> C -> B -> A',
    "unknown-parent.json": 'unknown-parent.json, field "memcgs.A.parent": no memcg "Z"; declared: "A"',
    "task-in-unknown-memcg.json": 'task-in-unknown-memcg.json, field "tasks.p": task "p" is in memcg "a", which is not declared (did you mean "A"?); memcgs: "root", "A"',
    "expect-memsw-without-swap-accounting.json": 'expect-memsw-without-swap-accounting.json, step 1 (expect), field "memsw_usage": swap accounting is off in this scenario ("swap_account": false in "machine"), so there is no memsw counter, as the kernel then has no memory.memsw.* files',
    "set-memsw-limit-without-swap-accounting.json": 'set-memsw-limit-without-swap-accounting.json, step 0 (set_limit), field "memsw_limit_pages": swap accounting is off in this scenario ("swap_account": false in "machine"), so there is no memsw counter, as the kernel then has no memory.memsw.* files',
    "memsw-limit-without-swap-accounting.json": 'memsw-limit-without-swap-accounting.json, field "memcgs.A.memsw_limit": memsw_limit needs swap accounting; set "swap_account": true in "machine" or drop it',
    "hierarchy-turned-off-under-hierarchical-parent.json": 'hierarchy-turned-off-under-hierarchical-parent.json, field "memcgs.B.use_hierarchy": parent "A" has use_hierarchy, and the kernel gives its children use_hierarchy too (mem_cgroup_css_online); set it to true or leave it out',
    "expect-without-counters.json": 'expect-without-counters.json, step 1 (expect), field "memcg": an expect step needs at least one counter to check, for example "usage"; counters: "usage", "memsw_usage", "max_usage", "memsw_max_usage", "failcnt", "memsw_failcnt", "limit", "memsw_limit", "cache", "rss", "rss_huge", "mapped_file", "swap", "pgpgin", "pgpgout", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"',
    "expect-unknown-counter.json": 'expect-unknown-counter.json, step 1 (expect), field "usgae": unknown field "usgae" (did you mean "usage"?); expect takes "note", "memcg", "design", "usage", "memsw_usage", "max_usage", "memsw_max_usage", "failcnt", "memsw_failcnt", "limit", "memsw_limit", "cache", "rss", "rss_huge", "mapped_file", "swap", "pgpgin", "pgpgout", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"',
    "expect-negative.json": 'expect-negative.json, step 1 (expect), field "usage": must be 0 or more pages, got -1',
    "expect-bad-design.json": 'expect-bad-design.json, step 1 (expect), field "design": must be one of "3.17", "3.16", got "3.15"',
    "set-limit-without-limits.json": 'set-limit-without-limits.json, step 0 (set_limit), field "limit_pages": give "limit_pages" and/or "memsw_limit_pages"',
    "set-limit-on-root.json": 'set-limit-on-root.json, step 0 (set_limit), field "memcg": the root memcg has no limit to set',
    "bool-as-string.json": 'bool-as-string.json, step 0 (move_task), field "move_charge": must be true or false, got "yes"',
    "root-declared.json": 'root-declared.json, field "memcgs.root": "root" is the root memcg, which always exists; choose another name',
    "replace-with-itself.json": 'replace-with-itself.json, step 1 (replace_page_cache), field "with": a page cannot replace itself; "with" must name another page',
    "no-ram.json": 'no-ram.json, field "machine.ram_pages": a machine needs at least 1 page of RAM',
    "machine-unknown-field.json": 'machine-unknown-field.json, field "machine": unknown field "ram" in machine; known fields: "ram_pages", "swap_slots", "swap_account", "charge_stock"',
    "memcg-settings-not-object.json": 'memcg-settings-not-object.json, field "memcgs.A": memcg "A" must be a JSON object, got int',
}

RUNTIME = {
    "unmap-twice.json": 'unmap-twice.json, step 3 (unmap), field "page": task "p" does not map page "x" (it was unmapped at step 2)',
    "use-after-free.json": 'use-after-free.json, step 2 (migrate), field "page": page "x" no longer exists: it was freed at step 1 (unmap dropped its last reference)',
    "put-without-get.json": 'put-without-get.json, step 1 (put_page), field "page": page "x" holds no reference taken by get_page; put_page drops one taken by an earlier get_page',
    "truncate-anon.json": 'truncate-anon.json, step 1 (truncate), field "page": page "x" is an anonymous page, not in the page cache',
    "task-used-after-exit.json": 'task-used-after-exit.json, step 2 (fault_anon), field "task": task "p" exited at step 1',
    "swap-in-resident-page.json": 'swap-in-resident-page.json, step 1 (swap_in), field "page": task "p" maps page "x" in memory; there is nothing to swap in',
    "map-twice.json": 'map-twice.json, step 1 (map), field "task": task "p" already maps page "x"',
}
