# fish completion for lmigrate (`lmigrate completion fish`): save as
# ~/.config/fish/completions/lmigrate.fish. Revision ids come from the
# project in the current directory (`lmigrate completion --ids`).
set -l cmds init revision merge upgrade downgrade current history heads branches show stamp validate status log graph completion help
complete -c lmigrate -f
complete -c lmigrate -n "not __fish_seen_subcommand_from $cmds" -a "$cmds"
complete -c lmigrate -s c -l config -r -F -d 'config file'
complete -c lmigrate -s u -l url -x -d 'database URL'
complete -c lmigrate -s x -x -d 'KEY=VALUE for op.x'
complete -c lmigrate -s q -l quiet -d 'errors only'
complete -c lmigrate -s v -l verbose -d 'more detail'
complete -c lmigrate -l lock-timeout -x
complete -c lmigrate -l ddl-lock-timeout -x
complete -c lmigrate -l statement-timeout -x
complete -c lmigrate -n '__fish_seen_subcommand_from upgrade downgrade stamp show merge' -a '(lmigrate completion --ids 2>/dev/null)'
complete -c lmigrate -n '__fish_seen_subcommand_from upgrade downgrade' -l sql -l json
complete -c lmigrate -n '__fish_seen_subcommand_from current history heads branches show validate status log' -l json
complete -c lmigrate -n '__fish_seen_subcommand_from graph' -l format -xa 'dot mermaid'
complete -c lmigrate -n '__fish_seen_subcommand_from graph' -l no-db
complete -c lmigrate -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'
complete -c lmigrate -n '__fish_seen_subcommand_from help' -a "$cmds"
