# bash completion for lmigrate (`lmigrate completion bash`).
# Completes commands, options, config files (-c) and, for the commands that
# take a revision, the project's revision ids and branch labels (read with
# `lmigrate [-c FILE] completion --ids`, so they follow the project).
_lmigrate() {
  local cur prev cmd="" i
  local -a cfg=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local cmds="init revision merge upgrade downgrade current history heads branches show stamp validate status log graph completion help"
  local globals="-c --config -u --url -x -q --quiet -v --verbose --lock-timeout --ddl-lock-timeout --statement-timeout -h --help -V --version"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      -c|--config) cfg=(-c "${COMP_WORDS[i+1]}"); ((i++)) ;;
      -u|--url|-x|--lock-timeout|--ddl-lock-timeout|--statement-timeout|-m|--message|-r|--rev-range|-n|--format|--template|--version-path|--rev-id|--head|--branch-label|--depends-on) ((i++)) ;;
      -*) ;;
      *) [ -z "$cmd" ] && cmd="${COMP_WORDS[i]}" ;;
    esac
  done
  case "$prev" in
    -c|--config)
      COMPREPLY=($(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -S / -- "$cur"))
      compopt -o nospace 2>/dev/null
      return ;;
    -u|--url|-x|-m|--message|-n|--rev-id|--branch-label|--lock-timeout|--ddl-lock-timeout|--statement-timeout) return ;;
    --format) COMPREPLY=($(compgen -W "dot mermaid" -- "$cur")); return ;;
    --template) COMPREPLY=($(compgen -W "generic postgresql" -- "$cur")); return ;;
    --version-path) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --head|--depends-on|-r|--rev-range)
      COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${cfg[@]}" completion --ids 2>/dev/null)" -- "$cur"))
      return ;;
  esac
  if [ -z "$cmd" ]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=($(compgen -W "$globals" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
    fi
    return
  fi
  local opts=""
  case "$cmd" in
    init) opts="--template" ;;
    revision) opts="-m --message --rev-id --head --branch-label --depends-on --version-path --splice" ;;
    merge) opts="-m --message --rev-id --branch-label" ;;
    upgrade|downgrade) opts="--sql --json" ;;
    stamp) opts="--sql --purge" ;;
    current|heads) opts="-v --verbose --json" ;;
    branches) opts="-v --verbose --json" ;;
    history) opts="-r --rev-range -v --verbose -i --indicate-current --json" ;;
    show|validate|status) opts="--json" ;;
    log) opts="-n --json" ;;
    graph) opts="--format --no-db" ;;
  esac
  if [[ "$cur" == -* && ! "$cur" =~ ^-[0-9]+$ ]]; then
    COMPREPLY=($(compgen -W "$opts $globals" -- "$cur"))
    return
  fi
  case "$cmd" in
    upgrade|downgrade|stamp|show|merge)
      COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${cfg[@]}" completion --ids 2>/dev/null)" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W "$cmds" -- "$cur")) ;;
    init) COMPREPLY=($(compgen -d -- "$cur")) ;;
  esac
}
complete -F _lmigrate lmigrate
