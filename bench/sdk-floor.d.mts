import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export declare const client: DynamoDBDocumentClient;
export declare const floor: Record<'createUser' | 'getUser' | 'listUsers' | 'updateUser' | 'deleteUser', (userId?: string) => Promise<unknown>>;
