import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { authApi } from '../api.ts';
import { queryKeys } from './keys.ts';

export const useApiTokens = () => useQuery({ queryKey: queryKeys.tokens, queryFn: () => authApi.tokens() });

/** Creating or revoking a token reads the list again. */
export function useCreateToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => authApi.createToken(name),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.tokens }),
  });
}

export function useRevokeToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => authApi.revokeToken(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: queryKeys.tokens }),
  });
}
